#pragma once
// A fingerprint of everything a folder's git metadata is read from besides
// the folder's own files: where the repository is, HEAD and the ref it names,
// packed-refs, the index, the repository and user config files, and who owns
// the work tree. Two equal fingerprints and an equal tree mean libgit2 would
// report the same commit, branch, remote and dirtiness; a few stat calls and
// two tiny reads instead of loading libgit2.
#include <filesystem>
#include <string>

namespace envbuild::snapshot {

// `dir` absolute and canonical. Never fails: an unreadable file is recorded
// as such, so a change in readability changes the fingerprint too.
std::string git_state_fingerprint(const std::filesystem::path& dir);

// "size mtime_ns ctime_ns inode uid" of `path` (not followed), or "-" when it
// cannot be stat'ed: one line of a fingerprint.
std::string stat_line(const std::filesystem::path& path);

}  // namespace envbuild::snapshot
