#include "builder/conda/install/lock_files.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "registry/atomic_file.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr size_t kMaxLockBytes = 64u << 20;

bool is_hex(const std::string& s, size_t length) {
  return s.size() == length && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// "https://host/channel/linux-64/name-1.0-0.conda" -> name, version, build
// and subdir from the file name and path (what an explicit file carries).
LockedPackage from_url(const std::string& url, const std::string& where) {
  LockedPackage p;
  p.manager = "conda";
  p.url = url;
  const size_t slash = url.rfind('/');
  std::string file = url.substr(slash + 1);
  const size_t prev =
      slash == std::string::npos || slash == 0 ? std::string::npos : url.rfind('/', slash - 1);
  if (prev != std::string::npos) {
    p.subdir = url.substr(prev + 1, slash - prev - 1);
    p.channel = url.substr(0, prev);
  }
  for (const char* ext : {".conda", ".tar.bz2"}) {
    const std::string e = ext;
    if (file.size() > e.size() && file.compare(file.size() - e.size(), e.size(), e) == 0) {
      file.resize(file.size() - e.size());
      const size_t b = file.rfind('-');
      const size_t v =
          b == std::string::npos || b == 0 ? std::string::npos : file.rfind('-', b - 1);
      if (v == std::string::npos) break;
      p.name = file.substr(0, v);
      p.version = file.substr(v + 1, b - v - 1);
      p.build = file.substr(b + 1);
      return p;
    }
  }
  throw Error(ErrorKind::BadInput,
              where + ": '" + url.substr(0, 200) +
                  "' is not a conda package URL (name-version-build.conda or .tar.bz2)");
}

std::vector<LockedPackage> read_explicit(const std::string& text, const std::string& file) {
  std::vector<LockedPackage> out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool seen_marker = false;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = file + ":" + std::to_string(number);
    if (line == "@EXPLICIT") {
      seen_marker = true;
      continue;
    }
    if (!seen_marker)
      throw Error(ErrorKind::BadInput, where + ": expected @EXPLICIT before package URLs");
    const size_t hash = line.find('#');
    if (hash == std::string::npos)
      throw Error(ErrorKind::BadInput, where + ": the URL has no #sha256:... or #md5 checksum");
    const std::string url = line.substr(0, hash), digest = line.substr(hash + 1);
    if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0 &&
        url.rfind("file://", 0) != 0)
      throw Error(ErrorKind::BadInput, where + ": only https, http and file URLs are allowed");
    LockedPackage p = from_url(url, where);
    if (digest.rfind("sha256:", 0) == 0 && is_hex(digest.substr(7), 64)) {
      p.sha256 = digest.substr(7);
    } else if (is_hex(digest, 64)) {
      p.sha256 = digest;
    } else if (is_hex(digest, 32)) {
      p.md5 = digest;
    } else {
      throw Error(ErrorKind::BadInput,
                  where + ": '" + digest.substr(0, 80) + "' is not a sha256 or md5");
    }
    out.push_back(std::move(p));
  }
  if (!seen_marker)
    throw Error(ErrorKind::BadInput, file + ": not a conda explicit lock (no @EXPLICIT)");
  return out;
}

}  // namespace

std::string explicit_lock_text(const EnvironmentLock& lock, const std::string& subdir) {
  std::string out =
      "# Written by envbuild create --lock-out; conda reads it with\n"
      "#   conda create --name ENV --file THIS_FILE\n"
      "# platform: " +
      subdir + "\n# spec hash: " + lock.spec_hash + "\n@EXPLICIT\n";
  for (const LockedPackage& p : lock.packages) {
    if (p.manager != "conda") continue;
    out += p.url + "#" + (p.sha256.empty() ? p.md5 : "sha256:" + p.sha256) + "\n";
  }
  return out;
}

void write_lock_file(const std::filesystem::path& file, const EnvironmentLock& lock,
                     const std::string& subdir) {
  const bool json = file.extension() == ".json";
  registry::write_file_atomic(
      file, json ? lock.to_json().dump(2) + "\n" : explicit_lock_text(lock, subdir));
}

std::vector<LockedPackage> read_lock_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::BadInput, file.string() + ": cannot read the lock file");
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  if (text.size() > kMaxLockBytes)
    throw Error(ErrorKind::BadInput, file.string() + ": larger than 64 MiB");
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error(ErrorKind::BadInput, file.string() + ": not valid JSON");
    std::vector<LockedPackage> out;
    for (LockedPackage& p : EnvironmentLock::from_json(j, file.string()).packages) {
      if (p.manager == "conda") out.push_back(std::move(p));
    }
    return out;
  }
  return read_explicit(text, file.string());
}

}  // namespace envbuild::builder::conda
