"""fabrx's benchmarks (``make bench``): Gateway clients, chaincode runtimes, network
bring-up and block cutting, the pharma workload, and the province scale suite.

Modules: :mod:`bench.load` (the closed-loop driver on fabrx's client, and the config both drivers
read), :mod:`bench.runner` (one driver process, CPU sampled around its window), :mod:`bench.suites`
(the client and chaincode suites), :mod:`bench.benchnet` (networks brought up with fabrx_network:
``bench/consortium.yaml`` and copies of the default consortium), :mod:`bench.netup` (the network
suite), :mod:`bench.blockcutting` (the batch-timeout suite), :mod:`bench.pharma` with
:mod:`bench.pharma_workload` and :mod:`bench.threaded` (the pharma suite), :mod:`bench.cpu`
(``/proc`` CPU counters), :mod:`bench.stats` (percentiles), :mod:`bench.network` (the network under
test as the client suites see it), :mod:`bench.machine`, :mod:`bench.render`,
:mod:`bench.render_suites` and :mod:`bench.report` (``bench/results.json`` and
``docs/benchmarks.md``). The Node driver is ``tests/interop/bench-client.js``.
"""
