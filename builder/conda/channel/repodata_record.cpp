#include "builder/conda/channel/repodata_record.hpp"

#include "builder/conda/channel/json_cursor.hpp"

namespace envbuild::builder::conda {
namespace {

// Timestamps below this are in seconds (year 9999 in seconds; in
// milliseconds it is 1978, before any conda package): old channels wrote
// seconds, CEP 34 says milliseconds.
constexpr int64_t kLastSecondTimestamp = 253402300799;

bool is_lower_hex(std::string& text, size_t length) {
  if (text.size() != length) return false;
  for (char& c : text) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Text fields we copy into records must be printable ASCII or UTF-8, with
// no control characters (they end up in logs and lock files).
bool is_clean_text(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool is_token(std::string_view s, size_t max_length) {
  if (s.empty() || s.size() > max_length) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\') return false;
  }
  return true;
}

class RecordReader {
 public:
  RecordReader(std::string_view json, const RecordContext& context)
      : cursor_(json, context.document_offset), context_(context) {}

  RecordParseResult run() {
    RecordParseResult result;
    PackageRecord r;
    cursor_.expect('{');
    if (!cursor_.try_consume('}')) {
      do {
        bool escaped = false;
        std::string_view raw_key = cursor_.raw_string(escaped);
        std::string key_text;
        std::string_view key = raw_key;
        if (escaped) {
          if (!decode_json_string(raw_key, key_text)) cursor_.fail("bad escape in key");
          key = key_text;
        }
        cursor_.expect(':');
        field(key, r);
      } while (cursor_.try_consume(','));
      cursor_.expect('}');
    }
    if (!cursor_.at_end()) cursor_.fail("trailing bytes after the record");
    if (problem_.empty()) check(r);
    if (!problem_.empty()) {
      result.problem = std::move(problem_);
      return result;
    }
    result.record = std::move(r);
    return result;
  }

 private:
  void refuse(std::string why) {
    if (problem_.empty()) problem_ = std::move(why);
  }

  // A string value; nullopt for null (and for anything else, refusing).
  std::optional<std::string> text(std::string_view key) {
    char c = cursor_.peek();
    if (c == '"') {
      bool escaped = false;
      std::string_view raw = cursor_.raw_string(escaped);
      std::string out;
      if (!escaped) {
        out.assign(raw);
      } else if (!decode_json_string(raw, out)) {
        refuse(std::string(key) + " has a bad escape");
        return std::nullopt;
      }
      if (!is_clean_text(out)) {
        refuse(std::string(key) + " holds control characters");
        return std::nullopt;
      }
      return out;
    }
    if (c == 'n' && cursor_.literal()) return std::nullopt;
    refuse(std::string(key) + " is not a string");
    cursor_.skip_value();
    return std::nullopt;
  }

  std::optional<int64_t> integer(std::string_view key, bool allow_fraction) {
    char c = cursor_.peek();
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::string_view token = cursor_.number_token();
      if (auto v = json_integer(token)) return v;
      if (allow_fraction) {
        // A float timestamp: keep the integer part.
        try {
          double d = std::stod(std::string(token));
          if (d >= 0 && d < 9.2e18) return static_cast<int64_t>(d);
        } catch (const std::exception&) {
        }
      }
      refuse(std::string(key) + " is not an integer");
      return std::nullopt;
    }
    if (c == 'n' && cursor_.literal()) return std::nullopt;
    refuse(std::string(key) + " is not a number");
    cursor_.skip_value();
    return std::nullopt;
  }

  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    char c = cursor_.peek();
    if (c == 'n' && cursor_.literal()) return out;
    if (c != '[') {
      refuse(std::string(key) + " is not a list");
      cursor_.skip_value();
      return out;
    }
    cursor_.expect('[');
    if (cursor_.try_consume(']')) return out;
    do {
      if (cursor_.peek() != '"') {
        refuse(std::string(key) + " holds a non-string");
        cursor_.skip_value();
        continue;
      }
      if (auto s = text(key)) out.push_back(std::move(*s));
    } while (cursor_.try_consume(','));
    cursor_.expect(']');
    return out;
  }

  // track_features / features: a string (CEP 34), or a list in some old
  // channels.
  std::vector<std::string> features(std::string_view key) {
    char c = cursor_.peek();
    if (c == '[') {
      std::vector<std::string> out;
      for (const std::string& item : strings(key)) {
        for (std::string& f : split_feature_list(item)) out.push_back(std::move(f));
      }
      return out;
    }
    if (auto s = text(key)) return split_feature_list(*s);
    return {};
  }

  void field(std::string_view key, PackageRecord& r) {
    if (key == "name") {
      r.name = text(key).value_or("");
    } else if (key == "version") {
      r.version = text(key).value_or("");
    } else if (key == "build") {
      r.build = text(key).value_or("");
    } else if (key == "build_number") {
      auto v = integer(key, false);
      if (v && *v < 0) refuse("build_number is negative");
      r.build_number = v.value_or(0);
    } else if (key == "depends") {
      r.depends = strings(key);
    } else if (key == "constrains") {
      r.constrains = strings(key);
    } else if (key == "track_features") {
      r.track_features = features(key);
    } else if (key == "features") {
      r.features = features(key);
    } else if (key == "subdir") {
      r.subdir = text(key).value_or("");
    } else if (key == "license") {
      r.license = text(key).value_or("");
    } else if (key == "timestamp") {
      auto v = integer(key, true);
      if (v && *v < 0) refuse("timestamp is negative");
      int64_t t = v.value_or(0);
      r.timestamp = t > 0 && t <= kLastSecondTimestamp ? t * 1000 : t;
    } else if (key == "size") {
      auto v = integer(key, false);
      if (v && *v < 0) refuse("size is negative");
      r.size = static_cast<uint64_t>(v.value_or(0));
    } else if (key == "md5") {
      r.md5 = text(key).value_or("");
      if (!r.md5.empty() && !is_lower_hex(r.md5, 32)) refuse("md5 is not 32 hex digits");
    } else if (key == "sha256") {
      r.sha256 = text(key).value_or("");
      if (!r.sha256.empty() && !is_lower_hex(r.sha256, 64)) refuse("sha256 is not 64 hex digits");
    } else if (key == "noarch") {
      noarch(r);
    } else {
      cursor_.skip_value();
    }
  }

  void noarch(PackageRecord& r) {
    char c = cursor_.peek();
    if (c == 't' || c == 'f') {
      // Very old channels wrote a boolean: true was a generic noarch.
      auto lit = cursor_.literal();
      if (!lit) cursor_.fail("unexpected byte");
      r.noarch = *lit == 't' ? "generic" : "";
      return;
    }
    r.noarch = text("noarch").value_or("");
    if (!r.noarch.empty() && r.noarch != "python" && r.noarch != "generic") {
      refuse("noarch is neither python nor generic");
    }
  }

  void check(PackageRecord& r) {
    if (!is_token(r.name, 64)) return refuse("name is missing or invalid");
    if (!is_token(r.version, 64)) return refuse("version is missing or invalid");
    if (!is_token(r.build, 64)) return refuse("build is missing or invalid");
    if (!is_safe_package_filename(context_.filename)) return refuse("unsafe filename");
    bool conda_name = context_.filename.ends_with(".conda");
    if (conda_name != context_.conda_format) {
      return refuse(context_.conda_format ? "a non-.conda file in packages.conda"
                                          : "a non-.tar.bz2 file in packages");
    }
    if (r.subdir.empty()) r.subdir = std::string(context_.subdir);
    r.filename = std::string(context_.filename);
    r.url = std::string(context_.url_base) + r.filename;
    r.channel = std::string(context_.channel);
    r.channel_priority = context_.channel_priority;
  }

  JsonCursor cursor_;
  const RecordContext& context_;
  std::string problem_;
};

}  // namespace

RecordParseResult parse_repodata_record(std::string_view json, const RecordContext& context) {
  return RecordReader(json, context).run();
}

bool is_safe_package_filename(std::string_view filename) {
  if (filename.empty() || filename.size() > 211 || filename[0] == '.') return false;
  for (unsigned char c : filename) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\' || c == '%' || c == '?' || c == '#') {
      return false;
    }
  }
  std::string_view stem;
  if (filename.ends_with(".conda")) {
    stem = filename.substr(0, filename.size() - 6);
  } else if (filename.ends_with(".tar.bz2")) {
    stem = filename.substr(0, filename.size() - 8);
  } else {
    return false;
  }
  return !stem.empty();
}

std::vector<std::string> split_feature_list(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != ',' && text[i] != '\t') ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace envbuild::builder::conda
