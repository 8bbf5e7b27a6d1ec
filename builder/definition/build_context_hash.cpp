#include "builder/definition/build_context_hash.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "registry/digest.hpp"
#include "registry/error.hpp"

namespace envbuild::builder {

namespace fs = std::filesystem;

std::string hash_build_context(const fs::path& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
       !ec && it != end; it.increment(ec)) {
    paths.push_back(fs::relative(it->path(), dir).generic_string());
  }
  if (ec)
    throw Error(ErrorKind::BadInput,
                dir.string() + ": cannot read the build context: " + ec.message());
  std::sort(paths.begin(), paths.end());
  registry::Hasher h;
  for (const std::string& rel : paths) {
    const fs::path p = dir / rel;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0)
      throw Error(ErrorKind::BadInput, p.string() + ": cannot read (build context)");
    // Length-prefixed fields: no two contexts serialize alike.
    auto field = [&](const std::string& s) {
      h.update(std::to_string(s.size()) + ":");
      h.update(s);
    };
    field(rel);
    if (S_ISDIR(st.st_mode)) {
      field("dir");
    } else if (S_ISLNK(st.st_mode)) {
      field("symlink");
      field(fs::read_symlink(p).string());
    } else if (S_ISREG(st.st_mode)) {
      field((st.st_mode & S_IXUSR) ? "exec" : "file");
      std::ifstream in(p, std::ios::binary);
      if (!in) throw Error(ErrorKind::BadInput, p.string() + ": cannot read (build context)");
      registry::Hasher content;
      char buf[1 << 16];
      while (in.read(buf, sizeof buf) || in.gcount() > 0)
        content.update(buf, static_cast<size_t>(in.gcount()));
      field(content.finish().hex());
    } else {
      throw Error(ErrorKind::BadInput, p.string() + ": special file in the build context");
    }
  }
  return h.finish().hex();
}

}  // namespace envbuild::builder
