"""Heap allocators (first, next, best and worst fit, and a caching allocator): where a workload's
buffers land in its address space. Below the workloads and the exercises that use them; they
import nothing of vmsim but its errors."""
