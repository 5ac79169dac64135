package org.tensorflow.lite;

public interface Tensor {
    DataType dataType();
    int numDimensions();
    int[] shape();
    int[] shapeSignature();
}
