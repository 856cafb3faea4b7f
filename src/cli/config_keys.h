#pragma once
// Every configuration key of every command, with its default taken from the options struct that
// owns it (docs/style.md: each default is defined once) and a help line for --help.
#include <string>
#include <vector>

#include "core/config.h"

namespace switchdiff::cli {

// Sections a command reads: "experts", "switch", "sweep", "sampler", "samples", "nll", "fid", "output", "run".
void declare_sections(core::Config& config, const std::vector<std::string>& sections);
// True for a section some command reads (a shared INI file may hold sections of other commands).
bool is_known_section(const std::string& section);

}  // namespace switchdiff::cli
