/* The n-body step of the Computer Language Benchmarks Game (Sun and the four
 * giant planets, double precision, dt = 0.01): STEPS steps of advance(), each
 * body pair's distance through fsqrt.d and fdiv.d, the velocity and position
 * updates through fmadd.d/fmsub.d (gcc contracts a*b+c: -ffp-contract=fast is
 * GNU C's default).  Checksum: the bits of the energy before and after and of
 * every final position and velocity, folded. */
#include "bench.h"

#ifdef BENCH_TINY
#define STEPS 2000
const uint64_t bench_expected = 0x0ccd163908ba2aeaull;
#else
#define STEPS 550000
const uint64_t bench_expected = 0xf93ad382dc7f8822ull;
#endif

#define NB 5
#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

const char bench_name[] = "nbody";

struct body {
    double x, y, z, vx, vy, vz, mass;
};

/* the initial state (.rodata), copied into bodies: the data the steps write lives on a page
 * of its own, not on the code's (see README.md) */
static const struct body start[NB] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
     -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
     2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
     -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
     -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
};
static struct body bodies[NB] __attribute__((aligned(4096)));

static uint64_t bits(double d)
{
    union { double d; uint64_t u; } v = {d};
    return v.u;
}

static void offset_momentum(void)
{
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < NB; i++) {
        px += bodies[i].vx * bodies[i].mass;
        py += bodies[i].vy * bodies[i].mass;
        pz += bodies[i].vz * bodies[i].mass;
    }
    bodies[0].vx = -px / SOLAR_MASS;
    bodies[0].vy = -py / SOLAR_MASS;
    bodies[0].vz = -pz / SOLAR_MASS;
}

static double energy(void)
{
    double e = 0;
    for (int i = 0; i < NB; i++) {
        struct body *b = &bodies[i];
        e += 0.5 * b->mass * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
        for (int j = i + 1; j < NB; j++) {
            struct body *c = &bodies[j];
            double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
            e -= b->mass * c->mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void advance(double dt)
{
    for (int i = 0; i < NB; i++) {
        struct body *b = &bodies[i];
        for (int j = i + 1; j < NB; j++) {
            struct body *c = &bodies[j];
            double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * __builtin_sqrt(d2));
            b->vx -= dx * c->mass * mag;
            b->vy -= dy * c->mass * mag;
            b->vz -= dz * c->mass * mag;
            c->vx += dx * b->mass * mag;
            c->vy += dy * b->mass * mag;
            c->vz += dz * b->mass * mag;
        }
    }
    for (int i = 0; i < NB; i++) {
        struct body *b = &bodies[i];
        b->x += dt * b->vx;
        b->y += dt * b->vy;
        b->z += dt * b->vz;
    }
}

uint64_t workload(void)
{
    for (int i = 0; i < NB; i++)
        bodies[i] = start[i];
    offset_momentum();
    uint64_t check = bits(energy());
    for (int n = 0; n < STEPS; n++)
        advance(0.01);
    check = (check << 7 | check >> 57) ^ bits(energy());
    for (int i = 0; i < NB; i++) {
        const double *p = &bodies[i].x;
        for (int k = 0; k < 6; k++)
            check = (check << 7 | check >> 57) ^ bits(p[k]);
    }
    return check;
}
