#pragma once
// Byte counts for people: "1.5 MiB".
#include <cstdint>
#include <string>

namespace envbuild::registry {

// Binary units, one decimal above bytes: "0 B", "1023 B", "1.0 KiB".
std::string format_bytes(uint64_t bytes);

}  // namespace envbuild::registry
