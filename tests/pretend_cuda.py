"""A CUDA GPU pretended on a CPU-only machine, to test device handling in CI.

Tensors "on the GPU" are CPU tensors marked ``_on_gpu``. A torch function mode
carries the mark through every operation and fails where CUDA fails: operands
on two devices (CPU scalars excepted), ``.numpy()`` of a GPU tensor, a
generator of one device drawing a tensor on the other. Draws from the GPU's
own generator, which gives other numbers than the CPU's from one seed, are
recorded in ``PretendCuda.gpu_draws``.

Values are computed on the CPU, so results are those of the CPU; what this
checks is where each tensor would live.
"""

import contextlib
import traceback
import weakref
from unittest import mock

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

_CPU_GENERATOR = torch.Generator
# The generators made for device "cuda"; weakly held, as ids of collected
# generators are reused by new (CPU) ones.
_GPU_GENERATORS = weakref.WeakSet()
_RANDOM = {
    "rand", "randn", "randint", "randperm", "normal", "rand_like", "randn_like",
    "randint_like", "bernoulli", "multinomial", "poisson", "normal_", "uniform_",
    "bernoulli_", "random_", "exponential_", "cauchy_", "log_normal_",
    "geometric_", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout",
}  # fmt: skip
# Operations whose first operand says the device, indices may be on the CPU.
_INDEXING = {"__getitem__", "__setitem__", "index_select", "index_put_", "index_put"}
# Operations that compare or copy across devices in CUDA too.
_ACROSS_DEVICES = {
    "copy_", "set_", "_has_compatible_shallow_copy_type", "__repr__", "__format__",
    "__len__", "size", "dim", "numel", "stride", "is_floating_point", "is_complex",
}  # fmt: skip


class DeviceMismatch(RuntimeError):
    """Raised where CUDA would refuse tensors of two devices."""


def on_gpu(tensor):
    """Whether ``tensor`` is marked as living on the pretended GPU."""
    return isinstance(tensor, torch.Tensor) and getattr(tensor, "_on_gpu", False)


def _mark(outputs, gpu):
    for tensor in tree_flatten(outputs)[0]:
        if isinstance(tensor, torch.Tensor):
            tensor._on_gpu = gpu
    return outputs


def _is_cuda(device):
    """True for a CUDA device, False for another, None for no device."""
    if device is None:
        return None
    if isinstance(device, int):
        return True
    return torch.device(device).type == "cuda"


def _on_cpu(device):
    return "cpu" if _is_cuda(device) else device


class PretendCuda(TorchFunctionMode):
    """Follow the device of every tensor as if "cuda" were a device."""

    def __init__(self):
        super().__init__()
        self.gpu_draws = []  # (operation, stack) of draws by the GPU's generator

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if name in ("__get__", "__set__"):
            return self._attribute(func, name, args, kwargs)
        if name in ("numpy", "__array__") and on_gpu(args[0]):
            raise TypeError(
                "can't convert cuda:0 device type tensor to numpy. Use "
                "Tensor.cpu() to copy the tensor to host memory first."
            )
        if name == "cpu":
            out = func(*args, **kwargs)
            return out.view_as(out) if out is args[0] and on_gpu(out) else out
        if name == "cuda":
            return _mark(args[0].view_as(args[0]), True)
        if name == "to" and isinstance(args[0], torch.Tensor):
            return self._to(func, args, kwargs)
        tensors = [
            tensor
            for tensor in tree_flatten((args, kwargs))[0]
            if isinstance(tensor, torch.Tensor)
        ]
        device = _is_cuda(kwargs.get("device"))
        if device:
            kwargs["device"] = "cpu"
        if device is not None:
            gpu = device
        elif name in _INDEXING:
            gpu = on_gpu(args[0])
        else:
            gpu = any(on_gpu(tensor) for tensor in tensors)
        self._check_devices(name, args, tensors)
        if name in _RANDOM and not (
            name.startswith(("dropout", "alpha", "feature"))
            and not kwargs.get("training", args[2] if len(args) > 2 else True)
        ):
            self._check_generator(name, kwargs.get("generator"), gpu)
        out = func(*args, **kwargs)
        if out is None or any(out is tensor for tensor in tensors):
            return out  # in place: the tensor keeps its device
        return _mark(out, bool(gpu))

    def _attribute(self, func, name, args, kwargs):
        attribute = func.__self__.__name__
        tensor = args[0]
        if name == "__get__":
            if attribute == "device" and on_gpu(tensor):
                return torch.device("cuda", 0)
            if attribute == "is_cuda":
                return on_gpu(tensor)
            out = func(*args, **kwargs)
            if attribute in ("grad", "data", "T", "mT", "real", "imag"):
                _mark(out, on_gpu(tensor))
            return out
        out = func(*args, **kwargs)
        if attribute == "data":  # nn.Module.to moves parameters so
            tensor._on_gpu = on_gpu(args[1])
        return out

    def _check_devices(self, name, args, tensors):
        if name in _ACROSS_DEVICES:
            return
        if name in _INDEXING:
            indexed = on_gpu(args[0])
            if not indexed and any(on_gpu(t) for t in tree_flatten(args[1:])[0]):
                raise DeviceMismatch(f"{name}: a CPU tensor indexed on cuda:0")
            value = args[2] if name == "__setitem__" and len(args) > 2 else None
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                if on_gpu(value) != indexed:
                    raise DeviceMismatch(f"{name}: values on another device")
            return
        if any(on_gpu(tensor) for tensor in tensors) and any(
            not on_gpu(tensor) and tensor.dim() > 0 for tensor in tensors
        ):
            raise DeviceMismatch(
                f"{name}: Expected all tensors to be on the same device, but "
                "found at least two devices, cuda:0 and cpu!"
            )

    def _check_generator(self, name, generator, gpu):
        if generator is None:
            if gpu:
                self.gpu_draws.append((name, "".join(traceback.format_stack())))
            return
        generator_on_gpu = generator in _GPU_GENERATORS
        if generator_on_gpu != bool(gpu):
            devices = ("cuda" if gpu else "cpu", "cuda" if generator_on_gpu else "cpu")
            raise DeviceMismatch(
                f"{name}: Expected a '{devices[0]}' device type for generator but "
                f"found '{devices[1]}'"
            )
        if generator_on_gpu:
            self.gpu_draws.append((name, "".join(traceback.format_stack())))

    def _to(self, func, args, kwargs):
        tensor, target, rest = args[0], kwargs.get("device"), list(args[1:])
        for index, arg in enumerate(rest):
            if isinstance(arg, torch.Tensor):  # .to(other): its device and dtype
                target, rest[index] = ("cuda" if on_gpu(arg) else "cpu"), arg.dtype
            elif isinstance(arg, str | torch.device | int) and not isinstance(
                arg, bool
            ):
                target, rest[index] = arg, _on_cpu(arg)
        if "device" in kwargs:
            kwargs["device"] = _on_cpu(kwargs["device"])
        out = func(tensor, *rest, **kwargs)
        gpu = on_gpu(tensor) if target is None else bool(_is_cuda(target))
        if gpu == on_gpu(tensor):
            return _mark(out, gpu) if out is not tensor else out
        return _mark(out.view_as(out) if out is tensor else out, gpu)


class _AnyGenerator(type(_CPU_GENERATOR)):
    def __instancecheck__(cls, instance):
        return isinstance(instance, _CPU_GENERATOR)


class _Generator(_CPU_GENERATOR, metaclass=_AnyGenerator):
    """``torch.Generator``, whose generators for "cuda" are marked as such."""

    def __new__(cls, device="cpu"):
        generator = _CPU_GENERATOR.__new__(_CPU_GENERATOR, device=_on_cpu(device))
        if _is_cuda(device):
            _GPU_GENERATORS.add(generator)
        return generator


_new_parameter = torch.nn.Parameter.__new__


def _parameter(cls, data=None, requires_grad=True):
    # A parameter made of a tensor keeps its device (Module.to_empty does so).
    parameter = _new_parameter(cls, data, requires_grad)
    parameter._on_gpu = on_gpu(data)
    return parameter


@contextlib.contextmanager
def pretend_cuda():
    """Run the block as if the machine had one CUDA GPU; yield the mode."""
    mode = PretendCuda()
    with contextlib.ExitStack() as stack:
        for target, value in (
            ("torch.cuda.is_available", lambda: True),
            ("torch.cuda.device_count", lambda: 1),
            ("torch.cuda.current_device", lambda: 0),
            ("torch.cuda.device", lambda index: contextlib.nullcontext()),
            ("torch.cuda.manual_seed", lambda seed: None),
            ("torch.cuda.get_rng_state", lambda device="cuda": torch.zeros(1)),
            ("torch.cuda.set_rng_state", lambda state, device="cuda": None),
            ("torch.Generator", _Generator),
            ("torch.nn.Parameter.__new__", staticmethod(_parameter)),
        ):
            stack.enter_context(mock.patch(target, value))
        stack.enter_context(mode)
        yield mode
