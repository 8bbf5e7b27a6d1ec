#pragma once
// The index pass over one repodata.json (CEP 36): finds every record of
// `packages` (.tar.bz2) and `packages.conda` (.conda), remembers the byte
// range of its key and value and the package name it declares, and builds
// nothing else. Parsing a record into a PackageRecord happens later, only
// for the names a solver asks for (repodata_record.hpp).
//
// The whole document's syntax is checked here (so malformed JSON is found
// up front, whichever names are asked for later); a record's field types
// are not. A record without a string "name" is counted as malformed and not
// indexed. Also read: `info.subdir`, `info.base_url`, `repodata_version`
// (top level or in `info`), and `removed`. Other keys are ignored, as CEP 36
// asks. An empty document is an empty repodata.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace envbuild::builder::conda {

// One record: 16 bytes, so conda-forge's ~500k records cost ~8 MB.
struct RepodataEntry {
  uint64_t value_offset = 0;  // the record object's '{'
  uint32_t value_length = 0;  // through its '}'
  uint16_t key_gap = 0;       // value_offset minus the key's first raw byte
  uint8_t key_length = 0;     // raw key bytes (without quotes)
  uint8_t flags = 0;          // kEntryConda, kEntryKeyEscaped

  static constexpr uint8_t kConda = 1;       // from `packages.conda`
  static constexpr uint8_t kKeyEscaped = 2;  // the key holds JSON escapes
};

struct ScannedRepodata {
  std::string subdir;    // info.subdir, empty when absent
  std::string base_url;  // info.base_url, empty when absent
  int64_t repodata_version = 1;

  std::vector<RepodataEntry> entries;  // in document order
  // Entry indexes per package name (views into the document, or into
  // `owned_names` for names written with escapes), grouped CSR-style:
  // name_to_group[name] = g; entries of group g are
  // group_entries[group_start[g] .. group_start[g + 1]).
  std::unordered_map<std::string_view, uint32_t> name_to_group;
  std::vector<uint32_t> group_start;
  std::vector<uint32_t> group_entries;
  std::deque<std::string> owned_names;

  std::unordered_set<std::string> removed;  // filenames
  size_t malformed = 0;                     // records not indexed (no usable name or key)

  // The raw key (filename) of an entry, as written in `document`.
  std::string_view raw_key(std::string_view document, const RepodataEntry& e) const {
    return document.substr(e.value_offset - e.key_gap, e.key_length);
  }
};

// Scans `document`. Throws JsonSyntaxError (json_cursor.hpp) on malformed
// JSON or when the structure is not CEP 36's (e.g. `packages` not an object).
ScannedRepodata scan_repodata(std::string_view document);

}  // namespace envbuild::builder::conda
