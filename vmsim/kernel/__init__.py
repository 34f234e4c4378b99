"""The OS side on SimPy's clock: processes, CPUs, the paging device, load control and sampling
(``vmsim.kernel.sim.Simulation`` assembles them), over the VM core's Pager (vmsim.vm)."""
