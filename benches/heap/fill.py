# Fills a cloud with N instances (RunInstances of 1,000 at a time), waits
# until none is pending, prints the controller's VmRSS before and after.
import os, sys, time, boto3
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
env = {}
for line in open(sys.argv[4]):
    line = line.strip()
    if line.startswith("export "):
        k, _, v = line[7:].partition("=")
        env[k] = v.strip("'\"")
ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}/", region_name=env.get("AWS_DEFAULT_REGION", "yukari"),
                   aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) * 1024
image = [i["ImageId"] for i in ec2.describe_images()["Images"] if i["ImageId"].startswith("emi-")][0]
before = rss()
t = time.time()
for i in range(n // 1000):
    ec2.run_instances(ImageId=image, MinCount=1000, MaxCount=1000, InstanceType="t1.micro")
print(f"launched {n} in {time.time()-t:.1f} s", flush=True)
while True:
    pending = 0
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "instance-state-name", "Values": ["pending"]}])
    for p in pages:
        for r in p["Reservations"]:
            pending += len(r["Instances"])
    if pending == 0:
        break
    print(f"{pending} pending", flush=True)
    time.sleep(5)
time.sleep(5)
after = rss()
print(f"VmRSS before {before/2**20:.1f} MiB, after {after/2**20:.1f} MiB, {(after-before)/n:.0f} B per instance", flush=True)
