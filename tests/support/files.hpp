#pragma once
// Whole-file reads and writes for tests.
#include <sys/types.h>

#include <filesystem>
#include <string>

namespace envbuild::testing {

std::string slurp(const std::filesystem::path& path);
// Creates parent directories; sets the mode exactly (umask does not apply).
void write_file(const std::filesystem::path& path, const std::string& content, mode_t mode = 0644);

}  // namespace envbuild::testing
