#include "builder/conda/channel/repodata_scan.hpp"

#include <limits>

#include "builder/conda/channel/json_cursor.hpp"

namespace envbuild::builder::conda {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view document) : doc_(document), cursor_(document) {}

  ScannedRepodata run() {
    if (cursor_.at_end()) return std::move(out_);  // CEP 36: empty means {}
    cursor_.expect('{');
    if (!cursor_.try_consume('}')) {
      do {
        bool escaped = false;
        std::string_view key = cursor_.raw_string(escaped);
        cursor_.expect(':');
        if (escaped) {
          cursor_.skip_value();
        } else if (key == "packages") {
          records(0);
        } else if (key == "packages.conda") {
          records(RepodataEntry::kConda);
        } else if (key == "info") {
          info();
        } else if (key == "removed") {
          removed();
        } else if (key == "repodata_version") {
          version();
        } else {
          cursor_.skip_value();  // signatures and anything newer
        }
      } while (cursor_.try_consume(','));
      cursor_.expect('}');
    }
    if (!cursor_.at_end()) cursor_.fail("trailing bytes after the document");
    group();
    return std::move(out_);
  }

 private:
  std::string string_value(const char* what) {
    if (cursor_.peek() != '"') cursor_.fail(std::string(what) + " is not a string");
    bool escaped = false;
    std::string_view raw = cursor_.raw_string(escaped);
    std::string text;
    if (!escaped) return std::string(raw);
    if (!decode_json_string(raw, text)) cursor_.fail(std::string("bad escape in ") + what);
    return text;
  }

  void version() {
    if (cursor_.peek() == 'n' && cursor_.literal()) return;  // null: the default
    auto v = json_integer(cursor_.number_token());
    if (!v) cursor_.fail("repodata_version is not an integer");
    out_.repodata_version = *v;
  }

  void info() {
    if (cursor_.peek() != '{') cursor_.fail("info is not an object");
    cursor_.expect('{');
    if (cursor_.try_consume('}')) return;
    do {
      bool escaped = false;
      std::string_view key = cursor_.raw_string(escaped);
      cursor_.expect(':');
      char next = cursor_.peek();
      if (!escaped && key == "subdir" && next == '"') {
        out_.subdir = string_value("info.subdir");
      } else if (!escaped && key == "base_url" && next == '"') {
        out_.base_url = string_value("info.base_url");
      } else if (!escaped && key == "repodata_version" && next != 'n') {
        version();
      } else {
        cursor_.skip_value();
      }
    } while (cursor_.try_consume(','));
    cursor_.expect('}');
  }

  void removed() {
    if (cursor_.peek() == 'n' && cursor_.literal()) return;
    if (cursor_.peek() != '[') cursor_.fail("removed is not a list");
    cursor_.expect('[');
    if (cursor_.try_consume(']')) return;
    do {
      if (cursor_.peek() == '"') {
        out_.removed.insert(string_value("a removed filename"));
      } else {
        cursor_.skip_value();
      }
    } while (cursor_.try_consume(','));
    cursor_.expect(']');
  }

  void records(uint8_t flags) {
    if (cursor_.peek() == 'n' && cursor_.literal()) return;
    if (cursor_.peek() != '{') cursor_.fail("packages is not an object");
    cursor_.expect('{');
    if (cursor_.try_consume('}')) return;
    do {
      bool key_escaped = false;
      cursor_.skip_ws();
      size_t key_start = cursor_.offset() + 1;
      std::string_view key = cursor_.raw_string(key_escaped);
      cursor_.expect(':');
      cursor_.skip_ws();
      size_t value_start = cursor_.offset();
      if (cursor_.peek() != '{') {
        cursor_.skip_value();  // not a record at all
        ++out_.malformed;
        continue;
      }
      std::optional<std::string_view> name = record_name();
      size_t value_end = cursor_.offset();
      size_t gap = value_start - key_start;
      if (!name || key.size() > std::numeric_limits<uint8_t>::max() ||
          gap > std::numeric_limits<uint16_t>::max() ||
          value_end - value_start > std::numeric_limits<uint32_t>::max()) {
        ++out_.malformed;
        continue;
      }
      RepodataEntry e;
      e.value_offset = value_start;
      e.value_length = static_cast<uint32_t>(value_end - value_start);
      e.key_gap = static_cast<uint16_t>(gap);
      e.key_length = static_cast<uint8_t>(key.size());
      e.flags = static_cast<uint8_t>(flags | (key_escaped ? RepodataEntry::kKeyEscaped : 0));
      auto [it, inserted] =
          out_.name_to_group.try_emplace(*name, static_cast<uint32_t>(group_sizes_.size()));
      if (inserted) group_sizes_.push_back(0);
      ++group_sizes_[it->second];
      entry_group_.push_back(it->second);
      out_.entries.push_back(e);
    } while (cursor_.try_consume(','));
    cursor_.expect('}');
  }

  // Walks one record object; returns the value of its (last) "name" key when
  // that is a string. Everything else in the record is only skipped.
  std::optional<std::string_view> record_name() {
    cursor_.expect('{');
    std::optional<std::string_view> name;
    if (cursor_.try_consume('}')) return name;
    do {
      bool escaped = false;
      std::string_view key = cursor_.raw_string(escaped);
      cursor_.expect(':');
      if (!escaped && key == "name") {
        if (cursor_.peek() == '"') {
          bool name_escaped = false;
          std::string_view raw = cursor_.raw_string(name_escaped);
          if (!name_escaped) {
            name = raw;
          } else {
            std::string decoded;
            if (decode_json_string(raw, decoded)) {
              out_.owned_names.push_back(std::move(decoded));
              name = out_.owned_names.back();
            } else {
              name.reset();
            }
          }
        } else {
          cursor_.skip_value();
          name.reset();
        }
      } else {
        cursor_.skip_value();
      }
    } while (cursor_.try_consume(','));
    cursor_.expect('}');
    if (name && name->empty()) name.reset();
    return name;
  }

  // Turns the per-entry group numbers into the CSR arrays.
  void group() {
    size_t groups = group_sizes_.size();
    out_.group_start.assign(groups + 1, 0);
    for (size_t g = 0; g < groups; ++g)
      out_.group_start[g + 1] = out_.group_start[g] + group_sizes_[g];
    std::vector<uint32_t> fill(out_.group_start.begin(), out_.group_start.end() - 1);
    out_.group_entries.resize(out_.entries.size());
    for (size_t i = 0; i < entry_group_.size(); ++i) {
      out_.group_entries[fill[entry_group_[i]]++] = static_cast<uint32_t>(i);
    }
  }

  std::string_view doc_;
  JsonCursor cursor_;
  ScannedRepodata out_;
  std::vector<uint32_t> group_sizes_;
  std::vector<uint32_t> entry_group_;
};

}  // namespace

ScannedRepodata scan_repodata(std::string_view document) { return Scanner(document).run(); }

}  // namespace envbuild::builder::conda
