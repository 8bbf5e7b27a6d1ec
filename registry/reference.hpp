#pragma once
// Image references in docker's grammar: [DOMAIN/]PATH[:TAG][@DIGEST], with
// docker's normalization ("ubuntu" -> "docker.io/library/ubuntu").
#include <optional>
#include <string>
#include <string_view>

#include "registry/digest.hpp"

namespace envbuild::registry {

class Reference {
 public:
  // Throws Error(BadInput) naming the input and what is wrong with it.
  static Reference parse(std::string_view text);

  const std::string& domain() const { return domain_; }  // "docker.io", "127.0.0.1:5000"
  const std::string& path() const { return path_; }      // "library/ubuntu"
  const std::optional<std::string>& tag() const { return tag_; }
  const std::optional<Digest>& digest() const { return digest_; }

  std::string repository() const { return domain_ + "/" + path_; }
  // Canonical form: domain/path[:tag][@digest]; a reference with neither tag
  // nor digest prints with ":latest", as docker's TagNameOnly does.
  std::string str() const;
  // Docker's short form: "ubuntu:latest", "user/img:1", "host:5000/x:y".
  std::string familiar() const;
  // What to ask the registry for: the digest if present, else the tag, else "latest".
  std::string manifest_ref() const;

  Reference with_tag(std::string tag) const;
  Reference with_digest(Digest digest) const;

 private:
  std::string domain_;
  std::string path_;
  std::optional<std::string> tag_;
  std::optional<Digest> digest_;
};

}  // namespace envbuild::registry
