// exceptions.cpp: C++ exceptions thrown through several frames with
// destructors to run, caught by base class, rethrown, nested, and carried
// in std::exception_ptr. The unwinder reads return addresses from the
// guest stack and looks them up in .eh_frame, so it only works if those
// are the original addresses.
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static int destroyed = 0;

struct Guard {
    int id;
    explicit Guard(int id) : id(id) {}
    ~Guard() { destroyed += id; }
};

struct AppError : std::runtime_error {
    int depth;
    AppError(const std::string &what, int depth) : std::runtime_error(what), depth(depth) {}
};

__attribute__((noinline)) static int thrower(int depth, int limit) {
    Guard g(depth);
    std::vector<int> data(depth + 1, depth);
    if (depth == limit) {
        throw AppError("limit " + std::to_string(limit), depth);
    }
    return thrower(depth + 1, limit) + data.back();
}

__attribute__((noinline)) static int rethrower(int limit) {
    try {
        return thrower(0, limit);
    } catch (const AppError &e) {
        if (e.depth % 2 == 0) {
            throw;  // rethrow the same object
        }
        throw std::logic_error(std::string("odd ") + e.what());
    }
}

__attribute__((noinline)) static void noexcept_ok() noexcept {
    try {
        throw 42;
    } catch (int x) {
        destroyed += x;
    }
}

int main() {
    long caught_app = 0, caught_logic = 0, caught_other = 0;
    for (int i = 1; i <= 3000; i++) {
        try {
            rethrower(i % 40 + 1);
        } catch (const AppError &e) {
            caught_app += e.depth;
        } catch (const std::logic_error &e) {
            caught_logic += std::string(e.what()).size();
        } catch (...) {
            caught_other++;
        }
    }
    std::printf("app %ld logic %ld other %ld\n", caught_app, caught_logic, caught_other);

    std::exception_ptr saved;
    try {
        thrower(0, 25);
    } catch (...) {
        saved = std::current_exception();
    }
    try {
        std::rethrow_exception(saved);
    } catch (const std::runtime_error &e) {
        std::printf("saved: %s\n", e.what());
    }

    try {
        try {
            throw std::out_of_range("inner");
        } catch (const std::exception &e) {
            try {
                throw std::invalid_argument(std::string(e.what()) + "+nested");
            } catch (const std::invalid_argument &f) {
                std::printf("nested: %s\n", f.what());
                throw;
            }
        }
    } catch (const std::logic_error &e) {
        std::printf("outer: %s\n", e.what());
    }

    noexcept_ok();
    std::printf("destructor sum %d\n", destroyed);
    return 0;
}
