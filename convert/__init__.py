"""Workstation side of edgeclf: Keras model → network description → TFLite/ONNX → bundle."""
