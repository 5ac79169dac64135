package android.widget;

public class ProgressBar extends android.view.View {
    public synchronized void setProgress(int progress) {}
    public synchronized int getProgress() { return 0; }
}
