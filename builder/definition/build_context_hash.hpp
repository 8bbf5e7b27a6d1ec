#pragma once
// A content hash of a Docker build context folder: every entry's relative
// path, type, owner-execute bit, symlink target and bytes, in path order.
// Two contexts with the same files hash alike on any machine; mtimes,
// owners and umask do not count. Symlinks are not followed.
#include <filesystem>
#include <string>

namespace envbuild::builder {

// sha256 hex. Throws Error(BadInput) naming the path for unreadable entries
// or special files (sockets, fifos, devices).
std::string hash_build_context(const std::filesystem::path& dir);

}  // namespace envbuild::builder
