"""The graded notebook's kernel: ipykernel, started as ``ipykernel_launcher`` starts it, with JAX's
lowerings sharing their MLIR context (:mod:`sandbox.mlir_context`)."""

from sandbox import mlir_context

if __name__ == "__main__":
    mlir_context.install()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
