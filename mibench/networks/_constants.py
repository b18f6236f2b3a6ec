"""Names shared by the torch models and the torch-free dataset registry."""

#: Activation functions by name.
ACTIVATIONS = ("tanh", "relu", "leaky_relu", "sigmoid", "linear")

#: Negative slope of ``leaky_relu``: large enough that the map is clearly bi-Lipschitz.
LEAKY_RELU_SLOPE = 0.1
