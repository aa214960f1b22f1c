# Yukari web console: English. Every key here must be in ja.ftl too (a test checks).

app-name = Yukari
lang-en = English
lang-ja = 日本語
signout = Sign out
problem-back = Back to the console

## Navigation
nav-dashboard = Dashboard
nav-instances = Instances
nav-images = Images
nav-keypairs = Key pairs
nav-groups = Security groups
nav-addresses = Elastic IPs

## Sign-in
signin-title = Sign in
signin-account = Account (name or id)
signin-user = User name
signin-password = Password
signin-submit = Sign in
signin-help = The cloud administrator's first password is in the file console-password of the cloud's data directory.
signin-failed = Sign-in failed: check the account, the user name and the password.
signin-throttled = Too many failed sign-ins. Wait a few minutes and try again.
csrf-title = This form has expired
csrf-text = The form was sent without its security token, or from another page. Go back, reload the page and send it again.
not-found-title = Not found
not-found-text = There is no such resource in your account.

## Dashboard
dashboard-title = Dashboard
dashboard-account = Account { $account } ({ $id })
dashboard-resources = Resources
dashboard-states = Instances by state

## Lists and columns
col-id = ID
col-name = Name
col-state = State
col-type = Type
col-zone = Zone
col-private-ip = Private IP
col-public-ip = Public IP
col-launched = Launched
col-changed = State changed
col-image = Image
col-key = Key pair
col-groups = Security groups
col-tags = Tags
col-description = Description
col-kind = Kind
col-architecture = Architecture
col-visibility = Visibility
col-registered = Registered
col-fingerprint = Fingerprint
col-key-type = Key type
col-created = Created
col-ingress = Inbound rules
col-egress = Outbound rules
col-members = Instances
col-direction = Direction
col-protocol = Protocol
col-ports = Ports
col-source = Source or destination
col-address = Address
col-allocation = Allocation
col-instance = Instance
col-allocated = Allocated
filter-state = State
filter-any = Any
filter-search = ID or name contains
filter-apply = Filter
page-first = « First page
page-next = Next page »

## Instance states
state-pending = pending
state-running = running
state-shutting-down = shutting down
state-terminated = terminated
state-stopping = stopping
state-stopped = stopped
reason-Client-UserInitiatedShutdown = Stopped or terminated by a user
reason-Client-InstanceInitiatedShutdown = Shut down from inside the instance
reason-Server-InternalError = The cloud could not run the instance

## Instances
instances-title = Instances
instances-none = No instances.
instance-title = Instance { $id }
launch-button = Launch instances
launch-title = Launch instances
launch-name = Name (tag)
launch-count = Number of instances
launch-no-key = No key pair
launch-user-data = User data
launch-submit = Launch
launch-type-label = { $name } ({ $cpus } CPU, { $memory } MiB, { $disk } GiB)
instance-launched = Launched { $ids }.
instance-stopping = Stopping { $id }.
instance-starting = Starting { $id }.
instance-rebooting = Rebooting { $id }.
instance-terminating = Terminating { $id }.
action-stop = Stop
action-start = Start
action-reboot = Reboot
action-terminate = Terminate
action-delete = Delete
action-remove = Remove
console-link = Console output
console-title = Console output of { $id }
console-empty = The instance has printed nothing yet.
back-to-instance = Back to the instance

## Images
images-title = Images
images-none = No images.
image-kind-machine = machine
image-kind-kernel = kernel
image-kind-ramdisk = ramdisk
image-own = yours
image-public = public

## Key pairs
keypairs-title = Key pairs
keypairs-none = No key pairs.
keypair-create = Create and download
keypair-once = The private key of a new key pair is downloaded once, as NAME.pem, and kept nowhere else: store it safely.
keypair-import = Import
keypair-public-key = Public key (OpenSSH format)
keypair-imported = Key pair { $name } imported.
keypair-deleted = Key pair { $name } deleted.
key-type-rsa = RSA 2048
key-type-ed25519 = Ed25519

## Security groups
groups-title = Security groups
group-title = Security group { $name }
group-create = Create group
group-created = Security group { $name } created.
group-delete = Delete this group
group-deleted = Security group { $id } deleted.
rules-none = No rules.
rule-ingress = inbound
rule-egress = outbound
rule-protocol-all = all
rule-protocol-tcp = TCP
rule-protocol-udp = UDP
rule-protocol-icmp = ICMP
rule-ports-all = all
rule-from = From port (ICMP type)
rule-to = To port (ICMP code)
rule-add-title = Add a rule
rule-add = Add rule
rule-added = Rule added.
rule-removed = Rule removed.
rule-source-help = The source (or, outbound, the destination) is a CIDR block such as 0.0.0.0/0, or a security group id (sg-…).

## Elastic IPs
addresses-title = Elastic IPs
addresses-none = No elastic IPs.
address-allocate = Allocate an address
address-associate = Associate
address-disassociate = Disassociate
address-release = Release
address-allocated = Address { $address } allocated.
address-associated = Address { $address } associated.
address-disassociated = Address { $address } disassociated.
address-released = Address { $address } released.

## Errors of the cloud, by EC2 error code (. written as -)
ec2-other = The cloud refused: { $code }: { $message }
ec2-MissingParameter = A required field is empty.
ec2-InvalidParameterValue = A value is not valid.
ec2-InvalidParameterCombination = These fields cannot be used together.
ec2-UnauthorizedOperation = You are not allowed to do this: only the account's admin user may change resources.
ec2-IncorrectInstanceState = The instance is not in a state that allows this.
ec2-InvalidInstanceID-NotFound = There is no such instance.
ec2-InvalidInstanceID-Malformed = That is not an instance id.
ec2-InvalidAMIID-NotFound = There is no such image.
ec2-InvalidAMIID-Malformed = That is not an image id.
ec2-InsufficientInstanceCapacity = There is not enough room in the cloud for these instances now.
ec2-InsufficientFreeAddressesInSubnet = There are not enough free private addresses for these instances.
ec2-OperationNotPermitted = The instance is protected against termination.
ec2-IdempotentParameterMismatch = This form was already sent with other values.
ec2-InvalidKeyPair-Duplicate = A key pair with this name already exists.
ec2-InvalidKeyPair-NotFound = There is no key pair with this name.
ec2-InvalidKey-Format = The public key is not in a format the cloud understands (OpenSSH RSA or Ed25519).
ec2-InvalidGroup-Duplicate = A security group with this name already exists.
ec2-InvalidGroup-NotFound = There is no such security group.
ec2-InvalidGroupId-Malformed = That is not a security group id.
ec2-InvalidPermission-Duplicate = This rule already exists.
ec2-InvalidPermission-NotFound = There is no such rule in this group.
ec2-InvalidPermission-Malformed = The rule is not valid: check the protocol, the ports and the source.
ec2-DependencyViolation = The group is still in use, by instances or by another group's rules.
ec2-CannotDelete = The default group cannot be deleted.
ec2-AddressLimitExceeded = No public address is left to allocate.
ec2-Resource-AlreadyAssociated = The address is already associated with an instance.
ec2-InvalidAllocationID-NotFound = There is no such address.
ec2-InvalidAssociationID-NotFound = There is no such association.
ec2-TagLimitExceeded = A resource may have at most 50 tags.
ec2-ServiceUnavailable = The cloud cannot store changes right now. Pages still show its state; try again later.
ec2-Unavailable = The cloud is not available right now.
ec2-InternalError = The cloud failed to do this. Its log has the details.

## Own password
password-title = Change your password
password-current = Current password
password-new = New password
password-confirm = New password again
password-submit = Change password
password-help = A password has 8 to 128 characters. After the cloud administrator set or reset it, choose your own here.
password-mismatch = The two new passwords are not the same.
password-wrong = The current password is wrong.
password-policy = The new password must have 8 to 128 characters, without control characters.
password-changed = Your password was changed.
error-unavailable = The cloud cannot store the change right now. Try again later.
