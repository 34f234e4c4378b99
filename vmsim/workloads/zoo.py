"""The CNN model zoo: preset models of ``cnn_train`` as chains of layers.

Presets (layer shapes computed from the architectures; one layer per convolution with its
BatchNorm, plus the classifier; each convolution saves its output and its BatchNorm output):

- ``toy``: a CIFAR-style ResNet (He et al. 2016, section 4.2, shortcuts without parameters): a
  3x3 stem with 16 channels, then four stages of one basic block of widths 16, 32, 64, 128 (the
  last three at stride 2) and a 10-way classifier, on a 32x32 input of 8 fp32 channels
  (``sample_bytes`` 32 KiB = 8 pages: the doc's 8 new data pages per iteration). 10 layers,
  298,346 parameters (292 pages of fp32 W), 155,658 saved activation elements per sample (153
  pages at batch 1). At batch 1 with the defaults (fp32, adam) the footprint is 1,336 pages,
  the doc's "1,340-page footprint" to within four pages.
- ``resnet18`` and ``resnet50``: torchvision's, 224x224 input (``sample_bytes`` 150,528: 224*224*3
  bytes), 11,689,512 and 25,557,032 parameters. ResNet-50's 53 convolutions output 11.1 M elements
  per image; keeping two tensors per convolution gives 89 MB per image in fp32 (the doc's 80-100 MB
  estimate). The max-pool output after the stem is counted with the stem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

PRESETS: Final = ("toy", "resnet18", "resnet50")
#: Default bytes of one input sample for each preset.
SAMPLE_BYTES: Final = {"toy": 32 * 1024, "resnet18": 224 * 224 * 3, "resnet50": 224 * 224 * 3}


class Layer(NamedTuple):
    """One layer: its parameter count and the activation elements it saves per sample."""

    name: str
    params: int
    act_elems: int


def _resnet(
    *,
    hw: int,
    in_ch: int,
    stem: tuple[int, int, int],
    widths: Sequence[int],
    blocks: Sequence[int],
    bottleneck: bool,
    maxpool: bool,
    classes: int,
    downsample: bool = True,
) -> tuple[Layer, ...]:
    """A torchvision-style ResNet as a chain of layers (see the module doc for what a layer saves).

    ``stem`` is (channels, kernel, stride). Parameters: conv weights (no bias), BatchNorm weight and
    bias, and the classifier's weight and bias. ``downsample=False`` uses parameter-free shortcuts
    (He et al.'s option A for CIFAR) instead of 1x1 convolutions.
    """
    layers: list[Layer] = []

    def conv(name: str, cin: int, cout: int, k: int, size: int) -> None:
        layers.append(Layer(name, cin * cout * k * k + 2 * cout, 2 * cout * size * size))

    ch, k, stride = stem
    size = hw // stride
    conv("conv1", in_ch, ch, k, size)
    if maxpool:
        size //= 2
        name, params, acts = layers[-1]
        layers[-1] = Layer(name, params, acts + ch * size * size)
    cin = ch
    expansion = 4 if bottleneck else 1
    for s, (width, nblocks) in enumerate(zip(widths, blocks), start=1):
        for b in range(nblocks):
            step = 2 if (b == 0 and s > 1) else 1
            out = width * expansion
            pre = f"layer{s}.{b}."
            if bottleneck:
                conv(pre + "conv1", cin, width, 1, size)
                size //= step
                conv(pre + "conv2", width, width, 3, size)
                conv(pre + "conv3", width, out, 1, size)
            else:
                size //= step
                conv(pre + "conv1", cin, width, 3, size)
                conv(pre + "conv2", width, width, 3, size)
            if downsample and (step != 1 or cin != out):
                conv(pre + "downsample", cin, out, 1, size)
            cin = out
    layers.append(Layer("fc", cin * classes + classes, classes))
    return tuple(layers)


#: The presets' architectures, as arguments of :func:`_resnet`.
_SHAPES: Final[dict[str, dict[str, Any]]] = {
    "toy": {"hw": 32, "in_ch": 8, "stem": (16, 3, 1), "widths": (16, 32, 64, 128), "blocks": (1, 1, 1, 1),
            "bottleneck": False, "maxpool": False, "classes": 10, "downsample": False},
    "resnet18": {"hw": 224, "in_ch": 3, "stem": (64, 7, 2), "widths": (64, 128, 256, 512), "blocks": (2, 2, 2, 2),
                 "bottleneck": False, "maxpool": True, "classes": 1000},
    "resnet50": {"hw": 224, "in_ch": 3, "stem": (64, 7, 2), "widths": (64, 128, 256, 512), "blocks": (3, 4, 6, 3),
                 "bottleneck": True, "maxpool": True, "classes": 1000},
}  # fmt: skip


def preset_layers(name: str) -> tuple[Layer, ...]:
    """The layers of a preset model (see the module doc)."""
    if name not in _SHAPES:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return _resnet(**_SHAPES[name])
