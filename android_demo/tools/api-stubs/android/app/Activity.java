package android.app;

public class Activity extends android.content.Context {
    protected void onCreate(android.os.Bundle savedInstanceState) {}
    protected void onDestroy() {}
    public void setContentView(int layoutResID) {}
    public <T extends android.view.View> T findViewById(int id) { return null; }
    public android.content.res.AssetManager getAssets() { return null; }
}
