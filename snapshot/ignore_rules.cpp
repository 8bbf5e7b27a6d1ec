#include "snapshot/ignore_rules.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "registry/unique_fd.hpp"

namespace envbuild::snapshot {

namespace {

// Ignore files are small; a bound keeps a hostile one from eating memory.
constexpr size_t kMaxIgnoreFileBytes = 16 << 20;

std::string read_fd(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxIgnoreFileBytes) break;
  }
  return out;
}

const IgnorePattern* last_match(const IgnoreFile& f, std::string_view path, std::string_view name,
                                bool is_directory) {
  if (path.substr(0, f.base.size()) != f.base) return nullptr;
  std::string_view relative = path.substr(f.base.size());
  for (auto it = f.patterns.rbegin(); it != f.patterns.rend(); ++it) {
    if (it->matches(relative, name, is_directory)) return &*it;
  }
  return nullptr;
}

}  // namespace

void IgnoreRules::push(IgnoreFile file) {
  stack_.push_back(file.patterns.empty() ? nullptr
                                         : std::make_shared<const IgnoreFile>(std::move(file)));
}

IgnoreMatch IgnoreRules::match(std::string_view path, std::string_view name,
                               bool is_directory) const {
  for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
    if (!*it) continue;
    if (const IgnorePattern* p = last_match(**it, path, name, is_directory)) return {it->get(), p};
  }
  if (exclude_) {
    if (const IgnorePattern* p = last_match(*exclude_, path, name, is_directory))
      return {exclude_.get(), p};
  }
  return {};
}

IgnoreFile read_directory_ignore_file(int dir_fd, bool has_amlignore, bool has_gitignore,
                                      std::string base, const std::string& source_dir) {
  IgnoreFile f;
  f.base = std::move(base);
  const char* name = has_amlignore ? ".amlignore" : (has_gitignore ? ".gitignore" : nullptr);
  if (name == nullptr) return f;
  f.source = source_dir + name;
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return f;  // a symlink, a fifo or unreadable: git skips it too
  f.patterns = parse_ignore_file(read_fd(fd.get()));
  return f;
}

IgnoreFile read_ignore_file(const std::filesystem::path& file, std::string base,
                            std::string source) {
  IgnoreFile f;
  f.base = std::move(base);
  f.source = std::move(source);
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return f;
  f.patterns = parse_ignore_file(read_fd(fd.get()));
  return f;
}

}  // namespace envbuild::snapshot
