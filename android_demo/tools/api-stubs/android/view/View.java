package android.view;

public class View {
    public interface OnClickListener { void onClick(View v); }
    public void setOnClickListener(OnClickListener l) {}
    public <T extends View> T findViewById(int id) { return null; }
    public void setEnabled(boolean enabled) {}
    public boolean isEnabled() { return true; }
}
