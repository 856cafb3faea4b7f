#pragma once
// Graceful preemption (docs/cli.md, docs/design.md): SIGTERM, SIGUSR1 (SLURM --signal) and SIGINT set a flag; long
// loops poll it at block boundaries (collectively, so every rank stops at the same block), save progress and exit with
// code 3. A second SIGINT kills the process at once.
namespace switchdiff::pipeline {

void install_stop_handlers();
bool stop_requested();

}  // namespace switchdiff::pipeline
