#pragma once
// The small files the snapshot side keeps for itself between runs (stat
// cache, tree memo, git metadata cache): read whole or not at all, written
// atomically, stamped with the moment of writing as the filesystem sees it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace envbuild::snapshot {

// The whole file, or nullopt when it is missing, not a regular file,
// unreadable, larger than `max_bytes` or changed while read: a cache that
// cannot be read is an empty one.
std::optional<std::string> read_cache_file(const std::filesystem::path& file, uint64_t max_bytes);

// Creates the folder, then writes `content(written_at_ns)` atomically and
// returns written_at_ns: the write time git's racy rule compares mtimes
// with. Throws Error(Internal) when the folder cannot be created.
int64_t write_cache_file(const std::filesystem::path& file,
                         const std::function<std::string(int64_t written_at_ns)>& content);

}  // namespace envbuild::snapshot
