"""fabrx's benchmarks (``make bench``): Gateway clients (issue 5) and chaincode runtimes (issue 4).

Modules: :mod:`bench.load` (the closed-loop driver on fabrx's client, and the config both drivers
read), :mod:`bench.runner` (one driver process, CPU sampled around its window), :mod:`bench.suites`
(which runs, which figures), :mod:`bench.cpu` (``/proc`` CPU counters), :mod:`bench.stats`
(percentiles), :mod:`bench.network` (the network under test), :mod:`bench.machine`,
:mod:`bench.render` and :mod:`bench.report` (``bench/results.json`` and ``docs/benchmarks.md``).
The Node driver is ``tests/interop/bench-client.js``.
"""
