// Secrets on OpenSSL's libcrypto: new access tokens, their SHA-256 (what a configuration keeps
// instead of the token) and comparisons whose time does not depend on where two strings differ.
#pragma once

#include <string>
#include <string_view>

namespace gridwatch::platform {

// A new access token: 32 random bytes (RAND_bytes) in base64url without padding (43 characters).
std::string new_token();
// The SHA-256 of `text` in lower-case hex (64 characters).
std::string sha256_hex(std::string_view text);
// Whether a == b, in a time that depends on their length only (CRYPTO_memcmp).
bool equal_in_constant_time(std::string_view a, std::string_view b);
// Whether `text` is 64 hex digits (a SHA-256 as sha256_hex writes it, either case).
bool is_sha256_hex(std::string_view text);

}  // namespace gridwatch::platform
