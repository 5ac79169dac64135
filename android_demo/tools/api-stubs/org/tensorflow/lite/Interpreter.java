package org.tensorflow.lite;

public final class Interpreter implements AutoCloseable {
    public static class Options {
        public Options() {}
        public Options setNumThreads(int numThreads) { return this; }
    }
    public Interpreter(java.nio.ByteBuffer byteBuffer, Options options) {}
    public void run(Object input, Object output) {}
    public void allocateTensors() {}
    public void resetVariableTensors() {}
    public void resizeInput(int idx, int[] dims) {}
    public void resizeInput(int idx, int[] dims, boolean strict) {}
    public int getInputTensorCount() { return 1; }
    public int getOutputTensorCount() { return 1; }
    public Tensor getInputTensor(int inputIndex) { return null; }
    public Tensor getOutputTensor(int outputIndex) { return null; }
    public void close() {}
}
