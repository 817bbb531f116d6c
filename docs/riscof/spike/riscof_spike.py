"""RISCOF reference plugin for Spike (riscv-isa-sim), to compare numbavm with (docs/riscof.md).

RISCOF imports this module as ``riscof_spike`` from the ReferencePluginPath of config.ini and makes
the class ``spike``.  It compiles each test exactly as the numbavm plugin does, with the same
``model_test.h`` and ``link.ld`` (the ``env`` option), so that both signatures cover the same
memory, and runs ``spike --isa=... +signature=FILE +signature-granularity=4``.
Options in config.ini's [spike] section, paths relative to config.ini:

    pluginpath  this directory                                            (required)
    env         the directory with model_test.h and link.ld               (required)
    PATH        the directory holding the spike command (default: found on $PATH)
    jobs        tests compiled and run at once (default 1)
    signature_granularity  4 (default) or 8: the same as the numbavm plugin's
"""
import os
import shutil

from riscof import utils
from riscof.pluginTemplate import pluginTemplate


class spike(pluginTemplate):
    __model__ = "spike"
    __version__ = "0.1"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = kwargs.get("config")
        if config is None:
            raise SystemExit("spike plugin: config.ini has no [spike] section (pluginpath, env)")
        here = kwargs.get("config_dir", os.getcwd())
        self.pluginpath = os.path.abspath(os.path.join(here, config["pluginpath"]))
        self.env = os.path.abspath(os.path.join(here, config["env"]))
        self.spike = os.path.join(config.get("PATH", ""), "spike")
        self.num_jobs = str(config.get("jobs", 1))
        self.granularity = config.get("signature_granularity", "4")

    def initialise(self, suite, work_dir, archtest_env):
        self.work_dir = work_dir
        # {0} -march, {1} XLEN, {2} the test's macros, {3} the test, {4} the ELF
        self.compile_cmd = ("riscv{1}-unknown-elf-gcc -march={0} -static -mcmodel=medany "
                            "-fvisibility=hidden -nostdlib -nostartfiles -g "
                            f"-T {self.env}/link.ld -I {self.env}/ -I {archtest_env} "
                            "{2} -o {4} {3}")

    def build(self, isa_yaml, platform_yaml):
        ispec = utils.load_yaml(isa_yaml)["hart0"]
        self.xlen = "64" if 64 in ispec["supported_xlen"] else "32"
        self.compile_cmd += " -mabi=" + ("lp64 " if self.xlen == "64" else "ilp32 ")
        # Spike runs with the extensions the DUT's ISA YAML names
        self.isa = "rv" + self.xlen + "".join(e.lower() for e in "IMAFDC" if e in ispec["ISA"])
        self.isa += "_zicsr_zifencei"
        for tool in (f"riscv{self.xlen}-unknown-elf-gcc", self.spike):
            if shutil.which(tool) is None:
                raise SystemExit(f"spike plugin: {tool}: not found")

    def runTests(self, testList):
        makefile = os.path.join(self.work_dir, "Makefile." + self.name[:-1])
        if os.path.exists(makefile):
            os.remove(makefile)
        make = utils.makeUtil(makefilePath=makefile)
        make.makeCommand = "make -k -j" + self.num_jobs
        for entry in testList.values():
            march = entry["isa"].lower()
            for ext in ("zicsr", "zifencei"):
                if ext not in march:
                    march += "_" + ext
            compile_cmd = self.compile_cmd.format(
                march, self.xlen, " -D" + " -D".join(entry["macros"]), entry["test_path"], "ref.elf")
            sig_file = os.path.join(entry["work_dir"], self.name[:-1] + ".signature")
            run_cmd = (f"{self.spike} --isa={self.isa} +signature={sig_file} "
                       f"+signature-granularity={self.granularity} ref.elf > spike.log 2>&1 || true")
            make.add_target(f"@cd {entry['work_dir']}; {compile_cmd}; {run_cmd};")
        make.execute_all(self.work_dir)
