#pragma once
// Lock files a user keeps beside a definition: `--lock-out FILE` writes the
// resolved packages, `--lock FILE` reads them back and skips the solve.
// Two formats: conda's explicit format (an "@EXPLICIT" list of URLs with
// "#sha256:..." or "#md5", what `conda create --file` reads) for any file
// name but *.json, and envbuild's JSON lock (EnvironmentLock) for *.json.
#include <filesystem>
#include <string>
#include <vector>

#include "builder/environment_lock.hpp"

namespace envbuild::builder::conda {

std::string explicit_lock_text(const EnvironmentLock& lock, const std::string& subdir);

// Writes `lock` to `file` atomically, in the format its name asks for.
void write_lock_file(const std::filesystem::path& file, const EnvironmentLock& lock,
                     const std::string& subdir);

// The conda packages of a lock file (either format). Error(BadInput)
// naming the file and line for malformed input; URLs must be http(s) or
// file and carry a sha256 or md5.
std::vector<LockedPackage> read_lock_file(const std::filesystem::path& file);

}  // namespace envbuild::builder::conda
