// C++ exceptions thrown through several frames: the unwinder reads the
// return addresses on the stack, which must be the original ones.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

struct Guard {
    int *n;
    ~Guard() { ++*n; }
};

__attribute__((noinline)) static int level(int d, int *dtors) {
    Guard g{dtors};
    std::vector<int> v(d + 1, d);
    if (d == 0) throw std::runtime_error("bottom " + std::to_string(v.size()));
    return level(d - 1, dtors) + 1;
}

int main() {
    int dtors = 0;
    int caught = 0;
    for (int i = 0; i < 200; i++) {
        try {
            level(10 + i % 5, &dtors);
        } catch (const std::runtime_error &e) {
            caught++;
        }
    }
    try {
        throw 42;
    } catch (int x) {
        std::printf("int %d\n", x);
    }
    std::printf("caught %d dtors %d\n", caught, dtors);
    return 0;
}
