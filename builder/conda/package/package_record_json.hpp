#pragma once
// A package record as conda writes it into its package cache
// (`info/repodata_record.json`, CEP 32 step 4) and as the base of an
// installed package's `conda-meta/<dist>.json`: the package's own
// info/index.json overlaid with what the channel's repodata (our
// PackageRecord) says, because repodata may have been patched after the
// build (`depends` and `constrains` above all).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

// index.json's keys, then the record's: depends and constrains always come
// from the record; strings and numbers when the record has them (non-empty,
// non-zero); plus fn, url, channel, md5, sha256 and size. track_features and
// features are written as space-separated strings, as repodata has them.
nlohmann::json repodata_record_json(const PackageRecord& record, const nlohmann::json& index);

// Writes `<extracted_dir>/info/repodata_record.json` (atomically, and only
// when its content changes) from the record and the package's index.json.
void write_repodata_record(const std::filesystem::path& extracted_dir, const PackageRecord& record);

}  // namespace envbuild::builder::conda
