#pragma once
// Integrity of a TorchScript file before torch::jit::load. A TorchScript .pt is a zip archive
// (torch.jit.save; PyTorch's "serialization" notes): LibTorch's reader trusts the bytes and does not verify the
// CRC-32 that the zip records for every entry, so a bit-flipped weight loads and runs. Here libzip checks the
// archive's structure (ZIP_CHECKCONS: central directory against local headers) and every entry is read to its
// end, which makes libzip compare its CRC-32 with the one recorded.
#include <string>

namespace switchdiff::experts {

// InputError naming the file and saying it is damaged (with the entry and libzip's reason) when the archive is
// not a consistent zip or an entry's CRC-32 does not match. `what` says what the file is ("expert", ...).
void check_zip_integrity(const std::string& path, const std::string& what);

}  // namespace switchdiff::experts
