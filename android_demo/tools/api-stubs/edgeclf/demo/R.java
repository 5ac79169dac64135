package edgeclf.demo;

/** Stands in for the R class the Android build generates from app/src/main/res (ids and names kept in step). */
public final class R {
    public static final class layout {
        public static final int activity_main = 1;
        public static final int item_score = 2;
    }
    public static final class id {
        public static final int status = 10;
        public static final int text = 11;
        public static final int classify = 12;
        public static final int chosen = 13;
        public static final int scores = 14;
        public static final int latency = 15;
        public static final int label = 16;
        public static final int bar = 17;
        public static final int value = 18;
    }
    public static final class string {
        public static final int app_name = 20;
        public static final int hint = 21;
        public static final int classify = 22;
        public static final int loading = 23;
        public static final int ready = 24;
        public static final int latency = 25;
        public static final int chosen = 26;
        public static final int none = 27;
        public static final int load_failed = 28;
        public static final int failed = 29;
    }
}
