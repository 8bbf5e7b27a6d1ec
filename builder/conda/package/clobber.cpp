#include "builder/conda/package/clobber.hpp"

#include <algorithm>
#include <unordered_map>

namespace envbuild::builder::conda {

namespace {

bool same_content(const InstalledPath& a, const InstalledPath& b) {
  if (a.type != b.type) return false;
  if (a.type == PathType::Softlink) return a.link_target == b.link_target;
  return !a.sha256_in_prefix.empty() && a.sha256_in_prefix == b.sha256_in_prefix;
}

}  // namespace

std::vector<Clobber> find_clobbers(const std::vector<LinkedPackage>& packages) {
  struct Owner {
    size_t package;
    const InstalledPath* path;
  };
  // Every owner of each path, in package order.
  std::unordered_map<std::string, std::vector<Owner>> owners;
  for (size_t i = 0; i < packages.size(); ++i)
    for (const InstalledPath& p : packages[i].installed) owners[p.path].push_back({i, &p});

  struct Found {
    Clobber clobber;
    size_t first;
    size_t second;
  };
  std::vector<Found> found;
  for (const auto& [path, list] : owners) {
    for (size_t k = 1; k < list.size(); ++k) {
      const Owner& a = list[0];
      const Owner& b = list[k];
      found.push_back({{path, packages[a.package].name, packages[b.package].name,
                        same_content(*a.path, *b.path)},
                       a.package,
                       b.package});
    }
  }
  // A file where another package needs a folder: "lib/x" vs. "lib/x/y".
  for (size_t i = 0; i < packages.size(); ++i) {
    for (const InstalledPath& p : packages[i].installed) {
      for (size_t slash = p.path.find('/'); slash != std::string::npos;
           slash = p.path.find('/', slash + 1)) {
        auto it = owners.find(p.path.substr(0, slash));
        if (it == owners.end()) continue;
        for (const Owner& o : it->second) {
          if (o.package == i) continue;
          size_t first = std::min(o.package, i);
          size_t second = std::max(o.package, i);
          found.push_back(
              {{it->first, packages[first].name, packages[second].name, false}, first, second});
        }
      }
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    if (a.clobber.path != b.clobber.path) return a.clobber.path < b.clobber.path;
    if (a.first != b.first) return a.first < b.first;
    return a.second < b.second;
  });
  std::vector<Clobber> out;
  out.reserve(found.size());
  for (Found& f : found) out.push_back(std::move(f.clobber));
  return out;
}

}  // namespace envbuild::builder::conda
