#pragma once
// The sweep of a results file (docs/formats.md /sweep columns) as a text table, one row per switch point; shared by
// `switchdiff info` and the summary `switchdiff sweep` prints at the end.
#include "io/h5_file.h"

namespace switchdiff::cli {

// Prints (rank 0, core::info) the /sweep columns present in `file`; InputError when a column is not a 1-D
// numeric dataset or the columns differ in length.
void print_sweep_table(const io::H5File& file);

}  // namespace switchdiff::cli
