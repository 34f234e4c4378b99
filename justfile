# vmsim tasks. `pip install -e '.[dev]'` provides `just` (rust-just) and ruff.

default:
    @just --list

# install vmsim with the test and dev extras
install:
    python -m pip install -e '.[dev]'

# run the test suite (the same command as CI)
test:
    python -m pip install -q -e '.[test]' && python -m pytest

# lint, check formatting and type-check (mypy, configured in pyproject.toml)
lint:
    ruff check
    ruff format --check vmsim tests benchmarks
    python -m mypy

# speed against peers and the kernel at real scale (refreshes the generated tables in docs/performance.md)
bench:
    python benchmarks/run.py --write-doc
    python benchmarks/kernel.py
    python benchmarks/kernel_scale.py --write-doc

# fuzz the CLI with 5000 examples a test (CI runs 200); `just fuzz SEED` replays a run (docs/reliability.md)
fuzz seed=`python -c "import random; print(random.randrange(2**32))"`:
    @echo "vmsim fuzz: seed {{seed}} (replay it with: just fuzz {{seed}})"
    VMSIM_FUZZ_SEED={{seed}} VMSIM_FUZZ_EXAMPLES=5000 python -m pytest -q tests/test_fuzz.py

# a textbook example and a real trace
demo:
    vmsim refs "7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1" --frames 3 --policy fifo,lru,opt
    vmsim refs "7 0 1 2 0 3 0 4" --frames 3 --policy lru --explain
    vmsim replay ../shared/traces/bzip2.lackey.gz --frames 64 --policy all
    vmsim simulate scenarios/cnn_train.yaml
    vmsim sweep scenarios/thrashing.yaml --vary processes.0.count=1..12
