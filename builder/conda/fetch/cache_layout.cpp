#include "builder/conda/fetch/cache_layout.hpp"

#include <cctype>

#include "builder/conda/fetch/display_url.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {
namespace {

constexpr std::string_view kExtensions[] = {".conda", ".tar.bz2"};
constexpr size_t kMaxFileName = 200;  // leaves room for the key and suffixes under NAME_MAX
constexpr size_t kKeyHex = 16;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string what(const PackageRecord& record) {
  if (!record.filename.empty()) return "package " + record.filename;
  if (!record.name.empty()) return "package " + record.dist_name();
  return "package at " + display_url(record.url);
}

[[noreturn]] void bad(const PackageRecord& record, const std::string& why) {
  throw Error(ErrorKind::BadInput, what(record) + ": " + why);
}

std::string_view extension_of(std::string_view name) {
  for (std::string_view ext : kExtensions) {
    if (name.size() > ext.size() && name.ends_with(ext)) return ext;
  }
  return {};
}

}  // namespace

std::string archive_file_name(const PackageRecord& record) {
  std::string name = record.filename;
  if (name.empty()) {
    std::string_view url = record.url;
    url = url.substr(0, url.find_first_of("?#"));
    auto slash = url.rfind('/');
    name = percent_decode(slash == std::string_view::npos ? url : url.substr(slash + 1));
  }
  if (name.empty()) bad(record, "no file name in the record or its URL");
  if (name.size() > kMaxFileName) bad(record, "file name longer than 200 bytes");
  if (name.front() == '.' || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    bad(record, "file name '" + name + "' is not a plain file name");
  }
  if (extension_of(name).empty()) bad(record, "not a .conda or .tar.bz2 archive");
  return name;
}

void check_record_digests(const PackageRecord& record) {
  if (!record.sha256.empty() && (record.sha256.size() != 64 || !is_hex(record.sha256))) {
    bad(record, "malformed sha256 '" + record.sha256.substr(0, 80) + "' in the record");
  }
  if (!record.md5.empty() && (record.md5.size() != 32 || !is_hex(record.md5))) {
    bad(record, "malformed md5 '" + record.md5.substr(0, 80) + "' in the record");
  }
}

std::string cache_key(const PackageRecord& record) {
  check_record_digests(record);
  if (!record.sha256.empty()) return "s" + lower(record.sha256).substr(0, kKeyHex);
  if (!record.md5.empty()) return "m" + lower(record.md5).substr(0, kKeyHex);
  return "u" + registry::Digest::sha256_of(display_url(record.url)).hex().substr(0, kKeyHex);
}

CachePaths cache_paths(const std::filesystem::path& dir, const PackageRecord& record) {
  std::string name = archive_file_name(record);
  std::string_view ext = extension_of(name);
  std::string stem = name.substr(0, name.size() - ext.size());
  std::string entry = stem + "." + cache_key(record);
  std::string archive = entry + std::string(ext);
  CachePaths paths;
  paths.archive = dir / archive;
  paths.marker = dir / (archive + ".verified");
  paths.lock = dir / (archive + ".lock");
  paths.link_temp = dir / (archive + ".link");
  paths.extracted = dir / entry;
  return paths;
}

bool is_link_temp_name(std::string_view file_name) {
  if (!file_name.ends_with(".link")) return false;
  file_name.remove_suffix(5);
  return !extension_of(file_name).empty();
}

}  // namespace envbuild::builder::conda
