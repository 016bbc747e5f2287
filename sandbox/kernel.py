"""The graded notebook's kernel: ipykernel, started as ``ipykernel_launcher`` starts it, with JAX's
lowerings sharing their MLIR context (:mod:`sandbox.mlir_context`) and pyplot loaded when first
used (:mod:`sandbox.deferred_pyplot`)."""

from sandbox import deferred_pyplot, mlir_context

if __name__ == "__main__":
    mlir_context.install()
    deferred_pyplot.install()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
