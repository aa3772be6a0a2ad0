/* noop: the cheapest useful contract. Reads the last input byte (so the input is really
 * there) and succeeds. Measures the fixed cost of an invoke and of passing its input. */
#include "tos.h"

uint64_t entrypoint(const uint8_t *input, uint64_t input_len) {
    if (input_len == 0) {
        return 0;
    }
    /* A volatile read: the byte is loaded even though its value only decides between two
     * equal outcomes. */
    volatile uint8_t last = input[input_len - 1];
    (void)last;
    return 0;
}
