// classify.cpp: classify.c with the C++ wrapper (edgerun.hpp).
//
//   classify_cpp MODEL INPUT.f32 OUTPUT.f32
#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <numeric>
#include <vector>

#include "edgerun.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: classify_cpp MODEL INPUT.f32 OUTPUT.f32\n";
    return 2;
  }
  try {
    edgerun::Runtime runtime;
    edgerun::Model model(runtime, argv[1]);
    std::cout << model.decision() << "\n";

    edgerun_tensor_info info = model.input(0);
    std::vector<int64_t> shape(info.shape, info.shape + info.rank);
    std::ifstream in(argv[2], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> pixels(bytes.size() / sizeof(float));
    std::copy(bytes.begin(), bytes.begin() + pixels.size() * sizeof(float),
              reinterpret_cast<char*>(pixels.data()));

    edgerun::Session session(model);
    session.run({edgerun::input(pixels, EDGERUN_DTYPE_F32, shape)});
    std::vector<float> scores = session.output_vector<float>(0);

    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    size_t k = std::min<size_t>(5, order.size());
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    std::cout << "top-5:";
    for (size_t i = 0; i < k; i++) std::cout << " " << order[i];
    std::cout << "\n";

    std::ofstream out(argv[3], std::ios::binary);
    out.write(reinterpret_cast<const char*>(scores.data()),
              static_cast<std::streamsize>(scores.size() * sizeof(float)));
    return out ? 0 : 1;
  } catch (const edgerun::Error& e) {
    std::cerr << "classify_cpp: " << e.what() << " (status " << e.status() << ")\n";
    return 1;
  }
}
