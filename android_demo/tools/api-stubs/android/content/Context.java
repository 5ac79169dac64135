package android.content;

public abstract class Context {
    public final String getString(int resId) { return null; }
    public final String getString(int resId, Object... formatArgs) { return null; }
}
