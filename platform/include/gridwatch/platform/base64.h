// Base64 (RFC 4648, with padding) through OpenSSL's EVP block coder: snapshots inside JSON orders.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gridwatch::platform {

std::string base64_encode(const unsigned char* data, size_t size);
inline std::string base64_encode(const std::vector<unsigned char>& data) { return base64_encode(data.data(), data.size()); }
// nullopt when `text` is not base64 (its length is not a multiple of 4, or a character is not in the alphabet).
std::optional<std::vector<unsigned char>> base64_decode(std::string_view text);

}  // namespace gridwatch::platform
