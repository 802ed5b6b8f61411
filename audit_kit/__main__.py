from audit_kit.cli import main

main()
