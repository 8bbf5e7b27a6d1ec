#include "builder/conda/fetch/display_url.hpp"

#include "registry/http_url.hpp"

namespace envbuild::builder::conda {

std::string display_url(std::string_view url) {
  // A fragment never reaches the server but may still hold a copied secret.
  std::string_view head = url.substr(0, url.find('#'));
  bool had_query = false;
  if (auto q = head.find('?'); q != std::string_view::npos) {
    had_query = true;
    head = head.substr(0, q);
  }
  std::string out = registry::strip_userinfo(head);
  // Every "/t/<segment>" is a token (anaconda.org, conda-forge mirrors); a
  // channel literally named "t" is rare enough to lose its next segment.
  size_t pos = 0;
  while ((pos = out.find("/t/", pos)) != std::string::npos) {
    size_t begin = pos + 3;
    size_t end = out.find('/', begin);
    if (end == std::string::npos) end = out.size();
    if (end > begin) out.replace(begin, end - begin, "<TOKEN>");
    pos = begin;
  }
  if (had_query) out += "?<redacted>";
  return out;
}

}  // namespace envbuild::builder::conda
