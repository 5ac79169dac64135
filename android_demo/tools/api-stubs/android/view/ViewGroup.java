package android.view;

public abstract class ViewGroup extends View {
    public void addView(View child) {}
    public void removeAllViews() {}
}
