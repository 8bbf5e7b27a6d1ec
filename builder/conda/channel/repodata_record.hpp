#pragma once
// Parses one repodata record (the JSON object a filename maps to, CEP 36 /
// CEP 34 index.json fields) into a PackageRecord. Strict about the types of
// the fields it uses and lenient about absent ones, since old channels omit
// many; unknown keys are ignored. A field of the wrong type, a bad hash, a
// filename that could escape its directory, or a name that differs from the
// one the record was indexed under makes the record malformed: the caller
// skips it and counts it.
#include <optional>
#include <string>
#include <string_view>

#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

struct RecordContext {
  std::string_view filename;  // the record's key, decoded
  bool conda_format = false;  // from `packages.conda`
  std::string_view subdir;    // the subdir the repodata came from
  std::string_view channel;   // public channel URL (PackageRecord::channel)
  std::string_view url_base;  // where files are: ends with '/'
  int channel_priority = 0;
  size_t document_offset = 0;  // of `json` in its document, for messages
};

struct RecordParseResult {
  std::optional<PackageRecord> record;
  std::string problem;  // why it was refused, when it was
};

// Throws JsonSyntaxError when `json` is not one JSON object (the document
// was checked by the index pass already, so that only happens for input
// that bypassed it). Field problems come back in `problem`.
RecordParseResult parse_repodata_record(std::string_view json, const RecordContext& context);

// A CEP 26 artifact filename we are willing to put in a URL and in a cache
// path: printable ASCII without '/', '\\', '%', '?', '#', spaces or a
// leading '.', at most 211 characters, ending in `.conda` or `.tar.bz2`.
bool is_safe_package_filename(std::string_view filename);

// Splits CEP 34 track_features/features text on spaces and commas.
std::vector<std::string> split_feature_list(std::string_view text);

}  // namespace envbuild::builder::conda
