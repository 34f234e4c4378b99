"""GPUs and host links as data: the presets a scenario names in ``machine.gpu.preset`` and
``machine.gpu.link``. Every figure's public source is in docs/gpu.md ("GPU presets")."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1 << 30
GB = 10**9
#: The UVM driver's VA block and root chunk: managed allocations start on it, eviction takes it whole.
BLOCK = 2 << 20


@dataclass(frozen=True)
class Link:
    """A host-device link: bytes per second in each direction, and the fixed cost of one copy."""

    name: str
    bandwidth: float
    latency_ns: int


@dataclass(frozen=True)
class Part:
    """A GPU: its device memory in bytes, that memory's bandwidth in bytes per second, its link,
    and its dense FP16/BF16 peak in FLOP/s (the LLM serving roofline's compute bound)."""

    name: str
    memory: int
    bandwidth: float
    link: str
    flops: float


#: x16 links, theoretical per-direction bandwidth (PCI-SIG; NVIDIA for NVLink-C2C).
LINKS: dict[str, Link] = {
    "pcie3": Link("pcie3", 15.75 * GB, 5_000),
    "pcie4": Link("pcie4", 31.5 * GB, 5_000),
    "pcie5": Link("pcie5", 63.0 * GB, 5_000),
    "nvlink-c2c": Link("nvlink-c2c", 450.0 * GB, 2_000),
}

#: Vendors' datasheet figures (SXM parts for A100 and H100). FLOP/s: dense FP16/BF16 tensor-core
#: peak without sparsity (half the datasheets' sparse figure for H100 and L4); the GTX 1080 Ti has no
#: tensor cores and runs FP16 at 1/64 of FP32, so its figure is the FP32 peak (2 x 3584 cores x
#: 1582 MHz). Sources in docs/llm.md ("Presets and their sources").
PARTS: dict[str, Part] = {
    "a100-40gb": Part("a100-40gb", 40 * GIB, 1555 * GB, "pcie4", 312e12),
    "a100-80gb": Part("a100-80gb", 80 * GIB, 2039 * GB, "pcie4", 312e12),
    "h100-80gb": Part("h100-80gb", 80 * GIB, 3350 * GB, "pcie5", 989.4e12),
    "l4-24gb": Part("l4-24gb", 24 * GIB, 300 * GB, "pcie4", 121e12),
    "gtx-1080-ti": Part("gtx-1080-ti", 11 * GIB, 484 * GB, "pcie3", 11.34e12),
}
