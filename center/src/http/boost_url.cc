// Boost.URL, compiled here (its header-only form: this file is the one that includes src.hpp).
#include <boost/url/src.hpp>
